import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import{drainBody,frameBody,toSocket}from"./chunk-7E6EMRJV.js";import"./chunk-CYVZ3VYG.js";import"./chunk-47JGDMEY.js";export{drainBody,frameBody,toSocket};
