/* A statically linked program that runs until killed: tmrun -p must refuse
 * it (tests/recorder/rec_attach.sh). */
#include <unistd.h>

int main(void)
{
    for (;;)
        pause();
}
