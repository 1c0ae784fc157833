"""Fill a GeoPackage layer's R-tree in bulk, in SQLite's own storage format.

SQLite builds an R*-tree one entry at a time: about 11 µs an entry on this machine, so a
100,000-parcel import spent 1.2 s of its 2.3 s write there. When a write adds many
entries (at least a quarter of what the tree holds), :func:`bulk_fill` instead packs all
the entries, old and new, into a fresh tree by Sort-Tile-Recursive (leaves of nearby
boxes, every node evenly filled) and writes its three shadow tables directly, inside the
caller's transaction. GDAL does the same when it creates a GeoPackage's spatial index.

The storage format is SQLite's (``ext/rtree/rtree.c``, "Database Format of R-Tree Tables"):

* ``{rtree}_node(nodeno INTEGER PRIMARY KEY, data BLOB)``: node 1 is the root. Each blob is
  exactly the tree's node size (read from the root, which the tree's creator sized): two
  bytes of tree depth (read from the root only; 0 when the root is a leaf), two bytes of
  cell count, then cells of a big-endian 64-bit id (a feature id in a leaf, a child node
  number above) and four big-endian 32-bit floats: min x, max x, min y, max y;
* ``{rtree}_rowid(rowid INTEGER PRIMARY KEY, nodeno)``: the leaf holding each feature id;
* ``{rtree}_parent(nodeno INTEGER PRIMARY KEY, parentnode)``: the parent of every node but the root.

Box corners are rounded outwards to 32-bit floats (minimums down, maximums up), as SQLite
rounds them, so that every box contains its geometry. SQLite's own ``rtreecheck()`` accepts
the result, and later single-row edits (QGIS, GDAL, kcn_gis) go through SQLite's code as
usual (tested in ``tests/safe_writes/test_bulk_rtree.py``).
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator

import numpy as np

__all__ = ["bulk_fill", "should_rebuild"]

#: Bytes per cell of a 2-D tree: the 64-bit id and four 32-bit floats.
_CELL = 8 + 4 * 4
#: The cell layout, big-endian as SQLite stores it.
_CELL_DTYPE = np.dtype([("id", ">i8"), ("box", ">f4", (4,))])
#: Rows of the rowid table written per ``executemany``.
_ROWS_AT_A_TIME = 10_000


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def should_rebuild(con: sqlite3.Connection, rtree: str, adding: int, *, at_least: int) -> bool:
    """True when adding ``adding`` entries costs more one by one than rebuilding the whole tree.

    A rebuild touches every entry (about 2 µs each) and an insert one (11 µs into an empty tree,
    24 µs into one of a million), so the tree is rebuilt when the new entries are at least a quarter
    of those it holds: 250,000 entries into a tree of 1,000,000 took 6.0 s one by one and 2.3 s
    rebuilt.
    """
    if adding < at_least:
        return False
    held = con.execute(f"SELECT count(*) FROM {_q(rtree + '_rowid')}").fetchone()[0]
    return adding * 4 >= int(held)


def _outward(values: np.ndarray, down: bool) -> np.ndarray:
    """``values`` as float32, each rounded towards minus (``down``) or plus infinity."""
    f = values.astype(np.float32)
    if down:
        over = f.astype(np.float64) > values
        f[over] = np.nextafter(f[over], np.float32(-np.inf))
    else:
        under = f.astype(np.float64) < values
        f[under] = np.nextafter(f[under], np.float32(np.inf))
    return f


def _pack(boxes: np.ndarray, capacity: int) -> tuple[np.ndarray, np.ndarray]:
    """One level of Sort-Tile-Recursive: ``(order, node)``, entries in node order and each one's node.

    ``boxes`` is ``(n, 4)`` float32 (min x, max x, min y, max y). The entries are cut into
    vertical slices by centre x, each slice sorted by centre y and cut into nodes of at most
    ``capacity`` entries, spread evenly so that no node is nearly empty.
    """
    n = len(boxes)
    nodes = -(-n // capacity)
    slices = max(1, int(np.ceil(np.sqrt(nodes))))
    per_slice = -(-n // slices)
    cx = boxes[:, 0].astype(np.float64) + boxes[:, 1]
    cy = boxes[:, 2].astype(np.float64) + boxes[:, 3]
    slice_of = np.empty(n, dtype=np.int64)
    slice_of[np.argsort(cx, kind="stable")] = np.arange(n) // per_slice
    order = np.lexsort((cy, slice_of))
    del cx, cy
    s = slice_of[order]
    del slice_of
    lengths = np.bincount(s)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    per_node = -(-lengths // capacity)  # nodes in each slice
    rank = np.arange(n) - starts[s]
    node_in_slice = (rank * per_node[s]) // lengths[s]  # evenly: sizes differ by at most one
    node = np.concatenate([[0], np.cumsum(per_node)[:-1]])[s] + node_in_slice
    return order, node


def _held_entries(con: sqlite3.Connection, rtree: str) -> tuple[np.ndarray, np.ndarray]:
    """The tree's entries as ``(ids, (n, 4) float32 boxes)``, decoded from its leaf nodes with numpy.

    The leaves are the nodes that are no node's parent. Reading the node blobs (one per 51 entries)
    instead of ``SELECT id, minx, ... FROM rtree`` keeps a million entries out of Python tuples.
    """
    leaves = con.execute(
        f"SELECT data FROM {_q(rtree + '_node')} "
        f"WHERE nodeno NOT IN (SELECT parentnode FROM {_q(rtree + '_parent')})"
    ).fetchall()
    raw = b"".join(bytes(b)[4 : 4 + _CELL * int.from_bytes(bytes(b)[2:4], "big")] for (b,) in leaves)
    cells = np.frombuffer(raw, dtype=_CELL_DTYPE)
    return cells["id"].astype(np.int64), cells["box"].astype(np.float32)


def _node_blobs(
    raw: bytes, edges: list[int], own: np.ndarray, head: bytes, node_size: int
) -> Iterator[tuple[int, bytes]]:
    """``(nodeno, blob)`` of each node of one level: its cells are ``raw[edges[i]:edges[i+1]]`` (in cells)."""
    if not len(own):  # an empty tree: the root alone, with no cells
        yield 1, bytes(node_size)
        return
    for a, b in itertools.pairwise(edges):
        body = head + (b - a).to_bytes(2, "big") + raw[a * _CELL : b * _CELL]
        yield int(own[a]), body + bytes(node_size - len(body))


def bulk_fill(con: sqlite3.Connection, rtree: str, ids: np.ndarray, bounds: np.ndarray) -> None:
    """Rebuild R-tree ``rtree`` to hold its entries plus ``ids`` with ``bounds``, in the caller's transaction.

    Parameters
    ----------
    con : sqlite3.Connection
        Inside a write transaction; nothing is committed here.
    rtree : str
        The R-tree virtual table (``rtree_{layer}_{geometry column}``); it must exist.
    ids : numpy.ndarray of int64
        Feature ids of the new entries, none of them in the tree yet.
    bounds : numpy.ndarray
        ``(n, 4)`` boxes of the new entries as shapely gives them (min x, min y, max x, max y),
        in the layer's CRS units.
    """
    size_row = con.execute(f"SELECT length(data) FROM {_q(rtree + '_node')} WHERE nodeno = 1").fetchone()
    if size_row is None:  # pragma: no cover - SQLite creates the root with the tree
        raise sqlite3.DatabaseError(f"R-tree {rtree} has no root node")
    node_size = int(size_row[0])
    capacity = (node_size - 4) // _CELL
    held_ids, held_boxes = _held_entries(con, rtree)
    new_boxes = np.column_stack(
        [
            _outward(bounds[:, 0], down=True),
            _outward(bounds[:, 2], down=False),
            _outward(bounds[:, 1], down=True),
            _outward(bounds[:, 3], down=False),
        ]
    )
    all_ids = np.concatenate([held_ids, np.asarray(ids, dtype=np.int64)])
    boxes = np.concatenate([held_boxes, new_boxes])
    del held_ids, held_boxes, new_boxes
    # levels bottom-up: each level's cells (ids, boxes) grouped into nodes
    levels: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (cell ids, cell boxes, node of each cell)
    cell_ids, cell_boxes = all_ids, boxes
    while True:
        if len(cell_ids) <= capacity:
            levels.append((cell_ids, cell_boxes, np.zeros(len(cell_ids), dtype=np.int64)))
            break
        order, node = _pack(cell_boxes, capacity)
        cell_ids, cell_boxes = cell_ids[order], cell_boxes[order]
        first = np.flatnonzero(np.r_[True, node[1:] != node[:-1]])
        parent_boxes = np.column_stack(
            [
                np.minimum.reduceat(cell_boxes[:, 0], first),
                np.maximum.reduceat(cell_boxes[:, 1], first),
                np.minimum.reduceat(cell_boxes[:, 2], first),
                np.maximum.reduceat(cell_boxes[:, 3], first),
            ]
        )
        levels.append((cell_ids, cell_boxes, node))
        cell_ids = np.arange(len(first), dtype=np.int64)  # placeholders: node numbers are given below
        cell_boxes = parent_boxes
    # node numbers, top-down: the root is 1, then each level's nodes in order
    depth = len(levels) - 1
    numbers: list[np.ndarray] = []
    next_no = 1
    for _ids, _boxes, node in reversed(levels):
        count = int(node.max()) + 1 if len(node) else 1
        numbers.append(np.arange(next_no, next_no + count, dtype=np.int64))
        next_no += count
    numbers.reverse()  # numbers[k]: node numbers of level k (0 = leaves)
    for table in ("_node", "_rowid", "_parent"):
        con.execute(f"DELETE FROM {_q(rtree + table)}")
    leaf_of = np.zeros(0, dtype=np.int64)
    for k, (ids_, boxes_, node) in enumerate(levels):  # each level written as it is encoded
        own = numbers[k][node] if len(node) else np.zeros(0, dtype=np.int64)
        children = ids_ if k == 0 else numbers[k - 1][ids_]
        if k > 0:
            con.executemany(
                f"INSERT INTO {_q(rtree + '_parent')} (nodeno, parentnode) VALUES (?, ?)",
                zip(children.tolist(), own.tolist(), strict=True),
            )
        cells = np.empty(len(ids_), dtype=_CELL_DTYPE)
        cells["id"] = children
        cells["box"] = boxes_
        raw = cells.tobytes()
        del cells, children
        edges = np.flatnonzero(np.r_[True, node[1:] != node[:-1], True]).tolist() if len(node) else []
        header_depth = (depth if k == depth else 0).to_bytes(2, "big")

        con.executemany(
            f"INSERT INTO {_q(rtree + '_node')} (nodeno, data) VALUES (?, ?)",
            _node_blobs(raw, edges, own, header_depth, node_size),
        )
        del raw
        if k == 0:
            leaf_of = own
    by_id = np.argsort(levels[0][0], kind="stable")
    rowids, leaves = levels[0][0][by_id], leaf_of[by_id]
    del levels, by_id, leaf_of
    for i in range(0, len(rowids), _ROWS_AT_A_TIME):  # Python ints for a block at a time, not the whole layer
        part = slice(i, i + _ROWS_AT_A_TIME)
        con.executemany(
            f"INSERT INTO {_q(rtree + '_rowid')} (rowid, nodeno) VALUES (?, ?)",
            zip(rowids[part].tolist(), leaves[part].tolist(), strict=True),
        )
