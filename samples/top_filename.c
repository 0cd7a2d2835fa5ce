/* Memory per source file: snapshot.statistics('filename'), excluding
 * frames without symbols. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample_util.h"

int main(void)
{
    tm_start(1);
    void *mine = malloc(40000);
    char *copy = strdup("strdup allocates inside libc");
    tm_snapshot *s = sample_take_snapshot();
    tm_filter no_unknown = sample_exclude("<unknown>");
    sample_print_top(s, TM_KEY_FILENAME, &no_unknown, 1, 10, "Top 10 files");
    tm_snapshot_free(s);
    free(mine);
    free(copy);
    tm_stop();
    return 0;
}
