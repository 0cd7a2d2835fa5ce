/* tm_export_options_init: the function form of TM_EXPORT_OPTIONS_INIT. */
#include "tm/export.h"

int tm_export_options_init(tm_export_options *opts, unsigned version, tm_error *err)
{
    if (version != TM_EXPORT_OPTIONS_VERSION)
        return tm_error_set(err, TM_EINVAL, "export options version %u, this library knows %u",
                            version, TM_EXPORT_OPTIONS_VERSION);
    const tm_export_options d = TM_EXPORT_OPTIONS_INIT;
    *opts = d;
    return TM_OK;
}
