import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import{drainBody,frameBody,toSocket}from"./chunk-Q6DJ4ZHT.js";import"./chunk-CT4TJB2I.js";import"./chunk-BTHC67X5.js";import"./chunk-47JGDMEY.js";export{drainBody,frameBody,toSocket};
