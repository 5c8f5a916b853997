/** The CLIs this toolkit drives: same command line, same JSON plan format. */
export const BINARIES = ['terraform', 'tofu'] as const;
export type Binary = (typeof BINARIES)[number];
