/** corolink's release: `corolink --version`, the `version` label of `corolink_info`; equal to package.json's (a test checks). */
export const VERSION = '0.1.0';
