/* Display the 10 lines allocating the most memory:
 * snapshot.statistics('lineno'). */
#include <stdio.h>
#include <stdlib.h>

#include "sample_util.h"

typedef struct node {
    struct node *next;
    char payload[48];
} node;

static node *make_list(int n)
{
    node *head = NULL;
    for (int i = 0; i < n; i++) {
        node *x = malloc(sizeof(*x));
        x->next = head;
        head = x;
    }
    return head;
}

int main(void)
{
    tm_start(1);
    node *a = make_list(2000);
    int *numbers = calloc(50000, sizeof(int));
    char *text = malloc(12345);
    tm_snapshot *s = sample_take_snapshot();
    tm_filter keep = sample_include("*top_lineno.c");
    sample_print_top(s, TM_KEY_LINENO, &keep, 1, 10, "Top 10 lines");
    tm_snapshot_free(s);
    while (a) {
        node *n = a->next;
        free(a);
        a = n;
    }
    free(numbers);
    free(text);
    tm_stop();
    return 0;
}
