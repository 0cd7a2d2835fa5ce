/* tm_export_options_init: the function form of TM_EXPORT_OPTIONS_INIT. */
#include "export_internal.h"

#include <string.h>

#include "tm_options.h"

int tm_export_options_init(tm_export_options *opts, unsigned version, tm_error *err)
{
    const tm_export_options d = TM_EXPORT_OPTIONS_INIT;
    tm_export_options o;
    int rc = tm_options_load(&o, &d, sizeof o, &d, ex_options_size(version), version,
                             TM_EXPORT_OPTIONS_VERSION, "export", err);
    if (rc == TM_OK) {
        memcpy(opts, &o, ex_options_size(version));
        opts->version = version;
    }
    return rc;
}
