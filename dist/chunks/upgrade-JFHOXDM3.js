import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import{drainBody,frameBody,toSocket}from"./chunk-U24EYQFR.js";import"./chunk-EGAR726O.js";import"./chunk-47JGDMEY.js";export{drainBody,frameBody,toSocket};
