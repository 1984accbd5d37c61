import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import{drainBody,frameBody,toSocket}from"./chunk-WWGGY76J.js";import"./chunk-UXRW7AOA.js";import"./chunk-47JGDMEY.js";export{drainBody,frameBody,toSocket};
