"""The built-in executors and what they share. Nothing here imports Ray until
``--executor ray`` is used.

- ``builtin``: the specs the host's own plugin offers through ``genbench_executors``;
- ``local``, ``parallel``, ``gpus``: worker processes on this machine, ``--jobs`` at a
  time, each pinned to a GPU of its own where there are several;
- ``ray_executor``, ``ray_task``, ``deadlines``: Ray tasks across a cluster, watched
  through the store;
- ``resources``: what a suite entry may ask for;
- ``context``, ``lost``: the runner's side: the entry lines, and the runs an executor
  did not finish, recorded as failed.
"""
