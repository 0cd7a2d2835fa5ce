#include "tool_cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int tool_usage_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(try '%s --help')\n", prog);
    return TOOL_EXIT_ERROR;
}

static int is_long_val(const struct option *longopts, int val)
{
    for (const struct option *o = longopts; o->name; o++)
        if (o->val == val)
            return 1;
    return 0;
}

int tool_option_error(const char *prog, int c, char *const *argv, const struct option *longopts)
{
    /* glibc has stepped past the offending element of a long option, and
     * left optopt 0 when the name itself is the problem. */
    const char *arg = optind > 0 ? argv[optind - 1] : "";
    int is_long = strncmp(arg, "--", 2) == 0 && (optopt == 0 || is_long_val(longopts, optopt));
    if (!is_long) {
        if (c == ':')
            return tool_usage_error(prog, "option '-%c' needs a value", optopt);
        return tool_usage_error(prog, "unknown option '-%c'", optopt);
    }
    const char *name = arg + 2;
    size_t len = strcspn(name, "=");
    const struct option *match = NULL;
    size_t nmatch = 0;
    for (const struct option *o = longopts; o->name; o++) {
        if (strncmp(o->name, name, len) != 0)
            continue;
        if (o->name[len] == '\0') { /* an exact name wins over prefixes */
            match = o;
            nmatch = 1;
            break;
        }
        match = o;
        nmatch++;
    }
    if (nmatch == 1 && c == ':')
        return tool_usage_error(prog, "option '--%s' needs a value", match->name);
    if (nmatch == 1 && name[len] == '=' && match->has_arg == no_argument)
        return tool_usage_error(prog, "option '--%s' takes no value", match->name);
    if (nmatch > 1) {
        fprintf(stderr, "%s: option '--%.*s' is ambiguous; possibilities:", prog, (int)len, name);
        for (const struct option *o = longopts; o->name; o++)
            if (strncmp(o->name, name, len) == 0)
                fprintf(stderr, " '--%s'", o->name);
        fprintf(stderr, "\n(try '%s --help')\n", prog);
        return TOOL_EXIT_ERROR;
    }
    return tool_usage_error(prog, "unknown option '--%.*s'", (int)len, name);
}
