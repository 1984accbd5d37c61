import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import{BuildkiteApi,BuildkiteApiError,ListedBuild}from"./chunk-EMMQVYFS.js";import"./chunk-CT4TJB2I.js";import"./chunk-KL72ZG7B.js";import"./chunk-BTHC67X5.js";import"./chunk-47JGDMEY.js";export{BuildkiteApi,BuildkiteApiError,ListedBuild};
