/* tmdiff — what changed between two snapshots; see tm/report.h and --help. */
#include "tm/report.h"
#include "tool.h"

int main(int argc, char **argv)
{
    return tm_report_main(argc, argv, 1, tool_load_snapshot);
}
