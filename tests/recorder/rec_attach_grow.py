# Grows a dict once told to (tests/recorder/rec_attach_python.sh): a program
# nobody here wrote (CPython) does the allocating; sys.getsizeof of the
# dict is the oracle for the size of its table.
import os
import sys
import time

d = sys.argv[1]


def publish(name, text):
    with open(os.path.join(d, name + ".tmp"), "w") as f:
        f.write(text)
    os.rename(os.path.join(d, name + ".tmp"), os.path.join(d, name))


def wait_for(name):
    while not os.path.exists(os.path.join(d, name)):
        time.sleep(0.01)


publish("ready", "%d\n" % os.getpid())
wait_for("go")
table = {}
for i in range(300000):
    table[i] = i
publish("grown", "%d\n" % sys.getsizeof(table))
wait_for("exit")
print("rec_attach_grow.py: %d entries" % len(table))
