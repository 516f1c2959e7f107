/**
 * The data specs every `--data` / `--test-data` flag takes, in one line for
 * help texts and errors. Its own module without imports, so light commands
 * (data-stats, predict, export, the cluster scripts) print their --help
 * without loading the data readers; test/cli/help.test.ts holds every
 * command's --help to it.
 *
 *   `--data SPEC  data source: ${DATA_SPEC_HELP}`
 */
export const DATA_SPEC_HELP = 'mnist | fashion-mnist[:DIR] | csv:PATH | images:DIR';
