/*
 * The command-line conventions every tool shares, tmrun included: exit codes
 * and usage errors.  No libtmcore here, so that tmrun (which links nothing
 * of tmkit) can compile tool_cli.c too.
 *
 * Every tool parses with getopt_long, opterr = 0 and an optstring that
 * starts with "-:" (tmrun: "+:"):
 *   '-'  operands come back in order as option 1, wherever they are, and
 *        whatever POSIXLY_CORRECT says: "tmstat A --top 5" always works;
 *   '+'  (tmrun) stops at the first operand: PROGRAM's own options are
 *        never ours;
 *   ':'  a missing value is ':', not '?', so tool_option_error can say so.
 * Code that parses more than once in one process (the fuzz and unit tests
 * drive tmstat/tmdiff) sets optind = 0 first: glibc then forgets all state.
 */
#ifndef TM_TOOL_CLI_H
#define TM_TOOL_CLI_H

struct option;

enum {
    TOOL_EXIT_OK = 0,
    TOOL_EXIT_GATE = 1, /* a gate (--fail-on-growth, --fail-above) failed */
    TOOL_EXIT_ERROR = 2 /* usage or input error; message on stderr */
};

/* Prints "PROG: MESSAGE" and a pointer to --help on stderr; returns
 * TOOL_EXIT_ERROR. */
int tool_usage_error(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The usage error for what getopt_long just refused (it returned c, '?' or
 * ':'): an unknown or ambiguous option, a missing value, or a value given
 * to an option that takes none.  argv and longopts are those given to
 * getopt_long.  Returns TOOL_EXIT_ERROR. */
int tool_option_error(const char *prog, int c, char *const *argv, const struct option *longopts);

#endif
