"""Where things are: the deployment area and the cells of each radio technology.

Rules:
- Positions are in metres, ``(x, y, z)``; the area bounds users in x and y, users stand at a
  fixed height ``z_m``.
- Links are indexed in the order the ``nqos_split`` split weights use (PROTOCOL.md §9):
  :data:`WIFI` = 0, :data:`NR` = 1, :data:`LTE` = 2.
- Cell ids on the wire are ``index + 1`` for every technology (LTE cell 1, Wi-Fi AP index + 1,
  NR gNB index + 1; PROTOCOL.md §13, §14); :data:`NO_CELL` (255) means no link.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "LINK_NAMES",
    "LTE",
    "NO_CELL",
    "NR",
    "NUM_LINKS",
    "WIFI",
    "Area",
    "Cells",
    "FloatArray",
    "IntArray",
    "users_per_cell",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Link indices, in the split-weight order of PROTOCOL.md §9 (ascending GMA link id).
WIFI, NR, LTE = 0, 1, 2
NUM_LINKS = 3
#: The technology names used in metric names, by link index.
LINK_NAMES = ("wifi", "nr", "lte")


def users_per_cell(cell: IntArray) -> IntArray:
    """For each user, how many users share its cell (``cell``: cell index, −1 none: 0)."""
    member = cell >= 0
    if not np.any(member):
        return np.zeros(cell.shape[0], dtype=np.int64)
    where = np.where(member, cell, 0)
    counts = np.bincount(where[member], minlength=int(where.max()) + 1)
    shared: IntArray = np.where(member, counts[where], 0)
    return shared


def apart(cell: IntArray, owners: IntArray | None, count: int) -> IntArray:
    """``cell`` (−1: none) numbered apart per network for users of stacked networks
    (``owners``: each user's network; None: one network), ``count`` cells each."""
    if owners is None:
        return cell
    numbered: IntArray = np.where(cell >= 0, cell + owners * count, -1)
    return numbered


#: Wire cell id meaning "no link / no measurement" (PROTOCOL.md §3).
NO_CELL = 255


@dataclass(frozen=True)
class Area:
    """The rectangle users start in and walk inside, and their antenna height.

    Attributes:
        min_x_m: West edge.
        max_x_m: East edge (``>= min_x_m``).
        min_y_m: South edge.
        max_y_m: North edge (``>= min_y_m``).
        z_m: User antenna height.
    """

    min_x_m: float
    max_x_m: float
    min_y_m: float
    max_y_m: float
    z_m: float

    @property
    def low(self) -> FloatArray:
        """``[min_x_m, min_y_m]``."""
        return np.array([self.min_x_m, self.min_y_m])

    @property
    def high(self) -> FloatArray:
        """``[max_x_m, max_y_m]``."""
        return np.array([self.max_x_m, self.max_y_m])

    def contains(self, xy_m: FloatArray, tol_m: float = 1e-9) -> npt.NDArray[np.bool_]:
        """Which of the ``(n, 2)`` positions lie inside the area (with a tolerance)."""
        inside: npt.NDArray[np.bool_] = np.all(
            (xy_m >= self.low - tol_m) & (xy_m <= self.high + tol_m), axis=1
        )
        return inside


@dataclass(frozen=True)
class Cells:
    """The base stations (or access points) of one technology.

    Attributes:
        positions_m: ``(c, 3)`` array of ``(x, y, z)``; ``c`` may be 0.
    """

    positions_m: FloatArray

    @property
    def count(self) -> int:
        """Number of cells."""
        return int(self.positions_m.shape[0])

    def distances_m(self, xy_m: FloatArray, z_m: float) -> FloatArray:
        """3-D distances ``(n, c)`` from users at ``xy_m`` (height ``z_m``) to every cell.

        Distances below 1 m are raised to 1 m: the path-loss models are not defined closer.
        """
        dx = xy_m[:, 0:1] - self.positions_m[None, :, 0]
        dy = xy_m[:, 1:2] - self.positions_m[None, :, 1]
        dz = z_m - self.positions_m[None, :, 2]
        return np.maximum(np.sqrt(dx * dx + dy * dy + dz * dz), 1.0)

    @staticmethod
    def from_points(points: list[tuple[float, float, float]]) -> Cells:
        """Cells at the given ``(x, y, z)`` points, in order (index 0 is cell id 1)."""
        array = np.asarray(points, dtype=np.float64).reshape(len(points), 3)
        return Cells(array)
