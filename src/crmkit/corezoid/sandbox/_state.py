"""The sandbox's account: folders, processes (convs) with their nodes, tasks and aliases."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import attrs

__all__ = ["DEFAULT_CONV", "DEFAULT_LOGIN", "DEFAULT_SECRET", "Folder", "Node", "Process"]

DEFAULT_LOGIN = "100001"
DEFAULT_SECRET = "sandbox-corezoid-secret"
DEFAULT_CONV = 1234

#: Node ``obj_type`` values (``en/api/node/list.md``): a start node, a step, a final node.
START, STEP, FINAL = 1, 0, 2


def node_id_for(conv_id: int, name: str) -> str:
    """A stable 24-hex-character node id, the shape Corezoid's ids have."""
    return hashlib.sha1(f"{conv_id}/{name}".encode(), usedforsecurity=False).hexdigest()[:24]


@attrs.define
class Node:
    obj_id: str
    title: str
    obj_type: int


@attrs.define
class Folder:
    """A folder; ``folder_id`` 0 is the root."""

    folder_id: int
    title: str = ""
    parent_id: int = 0
    company_id: str | None = None
    create_time: int = 0


@attrs.define
class Process:
    """A process (conv): a start node where tasks enter and a final node where they rest.

    ``tasks`` by obj_id (in creation order), ``by_ref`` ref -> obj_id.
    """

    conv_id: int
    title: str = ""
    folder_id: int = 0
    company_id: str | None = None
    project_id: int = 0
    stage_id: int = 0
    create_time: int = 0
    direct_hash: str = attrs.Factory(lambda: secrets.token_hex(20))
    tasks: dict[str, dict[str, Any]] = attrs.Factory(dict)
    by_ref: dict[str, str] = attrs.Factory(dict)
    nodes: list[Node] = attrs.Factory(list)

    def __attrs_post_init__(self) -> None:
        if not self.title:
            self.title = f"Process {self.conv_id}"
        if not self.nodes:
            self.nodes = [
                Node(node_id_for(self.conv_id, "start"), "Start", START),
                Node(node_id_for(self.conv_id, "final"), "Final", FINAL),
            ]

    @property
    def start_node(self) -> str:
        return self.nodes[0].obj_id

    @property
    def final_node(self) -> str:
        return self.nodes[-1].obj_id

    def node(self, obj_id: str) -> Node | None:
        return next((node for node in self.nodes if node.obj_id == obj_id), None)
