"""The three-way task merge: pure functions, no git. Used by the git merge driver, merged reads and sync.

``merge_task_bytes(base, ours, theirs)`` merges three versions of one task file; ``merge_tasks`` does the same
on parsed ``TaskFile`` values; ``three_way_lines`` is the line merge used for the body. The merge always
produces a file that ``taskfile.parse`` reads; the ``conflicts`` it returns are informational.

Guarantees (property-tested in ``tests/merge/test_merge_props.py``):

* **Symmetric.** ``merge(b, x, y)`` and ``merge(b, y, x)`` give the same bytes when the labels are swapped
  with the sides. No rule looks at which side is "ours"; ties are broken by comparing values. Without
  explicit labels each side is named by something in it (its ``modified`` time), so the result does not
  depend on the argument order either.
* **Idempotent.** ``merge(b, x, x) == x``, and merging a result ``r`` again with either input changes nothing
  (``merge(b, r, x) == r``, with the same labels), short of the ambiguous-alignment case in rule 6.
* **Nothing lost.** A value that either side set and the result does not hold is recorded in a conflict
  annotation; tag and dependency additions are kept; clashing body hunks keep both versions.
* **Always valid.** The output parses; an input that does not parse never leaks into the front-matter. As a
  last guard the output is parsed again before it is returned; should that ever fail, the merge reports
  ``failed`` and returns ``ours`` rather than a broken file.

Rules, field by field (``base`` is the common ancestor; ``None`` or an empty file is an add/add merge and
counts as a base with every field unset and an empty body; a base whose uuid differs from the sides' is
treated the same way):

1. **Identity.** The sides must have the same ``uuid``, otherwise ``ValueError`` (different tasks never share
   a path; renumbering clashing numeric ids is sync's job, not this module's).
2. **Any single value** (every scalar field, and every user-defined attribute, where "absent" is a value):
   changed on one side only, it takes that side; changed to the same value on both, it takes that value.
   Values are compared by a canonical rendering, so ``1`` and ``true`` differ.
3. **Both sides changed a value differently**: one rule per field picks the winner, and the other value is
   kept as an annotation ``merge: FIELD was LOST (LOSER-LABEL), kept KEPT (WINNER-LABEL)``, dated with the
   merged ``modified`` time (never the clock, so merging is reproducible). A loss already recorded on the
   task (same field, lost value and loser label) is not recorded twice, so re-merging adds nothing:

   * ``modified``: the later of the two, and no annotation (it is bookkeeping: every concurrent edit
     changes it).
   * ``status``: the more *active* status wins, ``pending > recurring > completed > deleted``. Open beats
     closed because a task that is wrongly kept open is seen and closed again, while a reopen that loses
     would silently hide the reason someone reopened it; completion beats deletion because it records work
     that was done.
   * ``end``: follows the status. If the sides' statuses differ, the ``end`` of the side whose status the
     result has wins (no "pending with an end time"); if they agree, the later time (a value beats unset).
   * ``start``: the later time; a value beats unset (the task stays visibly started).
   * ``entry``: the earlier time (a task is created once; the first creation is the real one).
   * ``id``: the smaller number (for one task, i.e. one uuid; a clash between two tasks is renumbering).
   * everything else (``description``, ``project``, ``priority``, ``due``, ``wait``, ``scheduled``,
     ``until``, ``recur``, ``parent``, ``agent``, ``lease``, user attributes): the side edited last wins, where a
     side's time is the later of its ``modified`` and the base's (so a clock that went backwards does not
     make an edit "older" than the ancestor); equal times are broken by the larger canonical value.

4. **Sets** (``tags``, ``depends``): if only one side changed the membership, that side's list as it is
   (order included; if neither did, a reordered list wins over the base's, and of two different orders the
   larger list, item by item); otherwise a three-way set merge: base items that neither side removed, in
   base order, then every item either side added, sorted. A removal on one side wins over the other side
   keeping the item (that is an edit against no edit); nothing added is lost. The ``merge-conflict`` tag,
   when rule 6 or 7 requires it, counts as an addition.
5. **Annotations**: as for sets, a list whose membership only one side changed is kept as it is; otherwise
   a three-way set merge
   keyed by ``(entry, description)``: every note either side added is kept (the union of new notes), a
   note either side removed (denotate) stays removed, and the list is sorted by entry then description.
   (A plain union would resurrect removed notes and could not be idempotent: if each side removes a
   different note the union equals the base, and re-merging it with one side would remove the note again.)
   Conflict annotations are added to this list, which is then sorted.
6. **Body** (the spec, markdown): a three-way merge by lines (diff3 over ``difflib.SequenceMatcher`` matching
   blocks): hunks changed on one side take that side, identical changes are taken once, and a hunk that
   both sides changed differently keeps both versions between HTML comment markers::

       <!-- merge conflict: both versions are kept below; keep one and delete the rest -->
       <!-- merge: version from agent-a -->
       ...
       <!-- merge: version from agent-b -->
       ...
       <!-- merge: end of conflict -->

   The versions are ordered by their text (not by side), their common leading and trailing lines are left
   outside the markers, and the task gets the tag ``merge-conflict`` so people can find it; the tag is
   (re)added whenever the merged body still holds such a block. Markdown stays valid (the markers render as
   nothing) and no git ``<<<<<<<`` marker is ever written. Further details:

   * blocks this module wrote (conflicts, kept unreadable versions) are single tokens for the diff, so an
     alignment never cuts through one;
   * a hunk where one side is the other plus blocks this module wrote (a conflict holding the other side's
     text, a kept unreadable version) resolves to the side with the blocks: merging a result again with one
     of its inputs changes nothing;
   * where there is no base text (both sides inserted at the same place) and one insertion is the other
     with lines added before or after it, the longer one is taken: it holds both, so it is not a clash;
   * with repeated lines the alignment can be ambiguous; a re-merge then may repeat an inserted line (as a
     line merge in git may), but never drops one.
7. **Unparseable input** (conflict markers, broken YAML, invalid fields): if exactly one side parses, the
   result is that side, plus the other side's raw text appended to the body in a fenced block (a backtick
   fence longer than any run in the text) after an HTML comment naming the label and the parse error, plus
   the tag ``merge-conflict``; a block already there is not added again. If neither side parses, the result
   is ``ours`` unchanged and ``MergeResult.failed`` is set, so the git driver exits non-zero and git reports
   a conflict. An unparseable base counts as no base.
8. **Git conflict markers** (a text merge committed unfinished, e.g. merged where the driver was not
   registered): before anything else, an input holding complete ``<<<<<<<``/``=======``/``>>>>>>>`` hunks
   (outside fenced code, where a doc may show them) is read back into the two versions the markers separate
   (the lines outside the hunks with each hunk's first, or second, part) and replaced by their merge under
   these rules, labelled with the markers' labels and against the marked base when every hunk has one
   (``merge.conflictStyle=diff3``), else as an add/add merge (differing values clash and the loser is kept
   in a note, tags and notes are united: without the base nobody can tell which side changed or removed
   what). The read-back carries the tag ``merge-conflict`` so a person looks at it. So no git marker is
   carried into a task, nested in a kept block or repeated, and re-merging changes nothing. Markers that do
   not form complete hunks, mark no difference, or whose versions both fail to parse leave the input as it
   is (rule 7 then applies). ``taskfile.parse`` names the first marker line of a front-matter holding
   them, which is what ``check`` reports.

Labels (``ours_label``/``theirs_label``) only appear in annotations and markers; callers pass the writers'
names (agent ids, commit ids). Left ``None``, a side is named ``modified <time>`` (or ``unreadable <hash>``
for a side that does not parse), which keeps the result independent of argument order, as a git driver
needs: during a rebase git swaps ``%A`` and ``%B``.

The package, one rule (or one shared notion) per module: ``files`` (the entry points on bytes and store
paths, and rule 8's read-back) · ``task`` (one parsed task, rules 1 to 6 put together) · ``fields``
(rules 2 and 3) · ``sets`` (rules 4 and 5) · ``body`` (rule 6's line merge) · ``markers`` (the blocks the
merge writes into a body) · ``gitmarkers`` (git's conflict markers read back) · ``readable`` (parsing,
rule 7, the last guard) · ``values`` · ``sides`` · ``lines`` · ``result``.
"""

from .body import three_way_lines
from .fields import SINGLE_FIELDS
from .files import merge_counter, merge_file, merge_task_bytes
from .gitmarkers import text_merge_versions
from .lines import split_lines
from .markers import CONFLICT_BEGIN, CONFLICT_END
from .result import CONFLICT_TAG, MergeResult
from .task import merge_tasks
from .values import ABSENT, canonical, show

__all__ = [
    "ABSENT",
    "CONFLICT_BEGIN",
    "CONFLICT_END",
    "CONFLICT_TAG",
    "SINGLE_FIELDS",
    "MergeResult",
    "canonical",
    "merge_counter",
    "merge_file",
    "merge_task_bytes",
    "merge_tasks",
    "show",
    "split_lines",
    "text_merge_versions",
    "three_way_lines",
]
