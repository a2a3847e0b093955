"""Joint angles over time, one panel per joint, a line per track and side: what a coach looks at first."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError, require

JOINTS = ("knee", "hip", "shoulder", "elbow")


def plot_angles(table, path: str | Path, joints: tuple[str, ...] = JOINTS, tracks=None, longest: int = 4) -> Path:
    """Draw ``{right,left}_{joint}_deg`` of a ``kinematics`` table against time, a panel per joint (right solid,
    left dashed, a colour per track); ``tracks``: only these ids (default: the ``longest`` tracks, by frames
    seen). Writes ``path`` (.png, .pdf, .svg) and returns it."""
    require("matplotlib", "analytics", "angle plots")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    have = [j for j in joints if f"right_{j}_deg" in table or f"left_{j}_deg" in table]
    if not have:
        raise InputError(f"the table has no angle of {', '.join(joints)}: plot a kinematics() table")
    if tracks is None:
        tracks = table["track"].value_counts().index[:longest].tolist()
    rows = table[table["track"].isin(list(tracks))]
    if rows.empty:
        raise InputError(f"no rows for tracks {sorted(tracks)}; the table has {sorted(table['track'].unique())}")
    fig, axes = plt.subplots(len(have), 1, figsize=(9, 2.2 * len(have)), sharex=True, squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, joint in zip(axes[:, 0], have):
        for k, (tid, person) in enumerate(rows.groupby("track")):
            for side, style in (("right", "-"), ("left", "--")):
                column = f"{side}_{joint}_deg"
                if column in person:
                    ax.plot(person["time_s"], person[column], style, color=colours[k % len(colours)], lw=1.2,
                            label=f"track {tid}, {side}")  # fmt: skip
        ax.set_ylabel(f"{joint} (deg)")
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7, ncol=4, loc="upper right")
    axes[-1, 0].set_xlabel("time (s)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
