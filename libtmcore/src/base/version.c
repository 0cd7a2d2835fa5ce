#include "tm/version.h"

const char *tm_version_string(void)
{
    return TM_VERSION_STRING;
}
