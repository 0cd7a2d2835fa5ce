/* tmstat — statistics of one snapshot; see tools/common/report.h and --help. */
#include "report.h"
#include "tool.h"

int main(int argc, char **argv)
{
    return tm_report_main(argc, argv, 0, tool_load_snapshot);
}
