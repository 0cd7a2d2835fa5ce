#include "tm/version.h"

/* Kept next to the format sources so the list cannot drift from what is built. */
const char *tm_formats_list(void)
{
    return "tms python";
}
