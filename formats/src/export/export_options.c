/* tm_export_options_init: the function form of TM_EXPORT_OPTIONS_INIT. */
#include "export_internal.h"

#include <string.h>

int tm_export_options_init(tm_export_options *opts, unsigned version, tm_error *err)
{
    size_t n = ex_options_size(version);
    if (!n)
        return tm_error_set(err, TM_EINVAL, "export options version %u, this library knows 1..%u",
                            version, TM_EXPORT_OPTIONS_VERSION);
    const tm_export_options d = TM_EXPORT_OPTIONS_INIT;
    memcpy(opts, &d, n);
    opts->version = version;
    return TM_OK;
}
