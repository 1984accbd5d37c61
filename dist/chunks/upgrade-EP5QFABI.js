import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import{drainBody,frameBody,toSocket}from"./chunk-O2PUK7EA.js";import"./chunk-ZLUJTYQA.js";import"./chunk-EKAM4O2W.js";import"./chunk-47JGDMEY.js";export{drainBody,frameBody,toSocket};
