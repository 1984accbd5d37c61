import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import{BuildkiteApi,BuildkiteApiError,ListedBuild}from"./chunk-P6V3BERM.js";import"./chunk-ZLUJTYQA.js";import"./chunk-2K7SKTW4.js";import"./chunk-EKAM4O2W.js";import"./chunk-47JGDMEY.js";export{BuildkiteApi,BuildkiteApiError,ListedBuild};
