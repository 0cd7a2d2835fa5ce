/* tmstat — statistics of one snapshot; see tm/report.h and --help. */
#include "tm/report.h"
#include "tool.h"

int main(int argc, char **argv)
{
    return tm_report_main(argc, argv, 0, tool_load_snapshot);
}
