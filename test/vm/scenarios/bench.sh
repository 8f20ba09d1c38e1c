#!/bin/bash
# The benchmark (not part of the test suites): run by test/vm/bench.
stafd_require
nvmet_setup
on_exit nvmet_cleanup
/usr/bin/python3 -u "$STAFD_VM_HARNESS/bench.py" "$@"
