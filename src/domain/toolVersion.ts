declare const CI_VERSION: string | undefined

/**
 * The tool's version: package.json's, set by the bundle (scripts/build.mjs). Steps
 * use the plugin of the same version, so a pipeline and its plugin never disagree.
 */
export const toolVersion = typeof CI_VERSION === "string" ? CI_VERSION : "0.0.0-dev"
