"""``tito``: the TinyTorch command line, for the book's historical milestones.

    tito milestone list                          # what exists, what each needs, last result
    tito milestone run perceptron                # or 01, 1, xor, mlp, all ...
    tito milestone run all --smoke --backend numpy
    python -m tinytorch.tito milestone list      # the same, without the console script

A milestone is a folder ``milestones/NN_YYYY_name/`` of scripts that each recreate a result
from history and check it against the book's *gate* (e.g. "the trained perceptron reaches
95%"). ``run`` starts every script as its own process (a clean interpreter each time),
streams its output, and ends with a table of gates and wall times.

One job per file:

* :mod:`~tinytorch.tito.milestones`: the book's milestone table: which milestones exist,
  the names ``run`` accepts for each, what each needs (modules, data);
* :mod:`~tinytorch.tito.contract`: what every milestone script imports (its flags, seeding,
  the gate/skip lines and exit codes), and how the runner reads a script's outcome back;
* :mod:`~tinytorch.tito.runner`: running one script in a fresh interpreter, the import
  check before it, the closing table of results;
* :mod:`~tinytorch.tito.status`: the file that remembers each milestone's last result;
* :mod:`~tinytorch.tito.modules`: the book's 20 modules and their import paths;
* :mod:`~tinytorch.tito.course`: the book's course commands (``tito setup``,
  ``tito module status|start|complete N``, ``tito update``, ``tito community login``);
* :mod:`~tinytorch.tito.cli`: the ``tito`` command itself (argparse, ``list``, ``run``).

The book's course commands manage notebooks and progress in a classroom. This framework has
no notebooks (every module is already written), so ``setup`` verifies the installation,
``module`` reports on and checks each module's import path, and ``update`` and
``community login`` say what to do instead (exit code 1).
"""
