import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import{BuildkiteApi,BuildkiteApiError,ListedBuild}from"./chunk-ZGDSKIA7.js";import"./chunk-CT4TJB2I.js";import"./chunk-IRTX46RW.js";import"./chunk-BTHC67X5.js";import"./chunk-47JGDMEY.js";export{BuildkiteApi,BuildkiteApiError,ListedBuild};
