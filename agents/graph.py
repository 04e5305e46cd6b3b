"""The workflow's wiring (and nothing else): the seed's node names and routers.

route -> requirement_gatherer | invalid_request | END; requirement_gatherer ->
resource_planner | END (waiting for an answer); resource_planner -> level_executor ->
resource_combiner -> terraform_fixer -> END.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from agents import nodes
from agents.state import AgentState, RunContext


def build_graph(checkpointer: Any = None) -> Any:
    builder = StateGraph(AgentState, context_schema=RunContext)
    builder.add_node("route", nodes.route)
    builder.add_node("invalid_request", nodes.invalid_request)
    builder.add_node("requirement_gatherer", nodes.requirement_gatherer)
    builder.add_node("resource_planner", nodes.resource_planner)
    builder.add_node("level_executor", nodes.level_executor)
    builder.add_node("resource_combiner", nodes.resource_combiner)
    builder.add_node("terraform_fixer", nodes.terraform_fixer)
    builder.add_edge(START, "route")
    builder.add_conditional_edges(
        "route",
        nodes.route_after_route,
        {"invalid_request": "invalid_request", "requirement_gatherer": "requirement_gatherer", "__end__": END},
    )
    builder.add_edge("invalid_request", END)
    builder.add_conditional_edges(
        "requirement_gatherer",
        nodes.route_after_gatherer,
        {"resource_planner": "resource_planner", "__end__": END},
    )
    builder.add_edge("resource_planner", "level_executor")
    builder.add_edge("level_executor", "resource_combiner")
    builder.add_edge("resource_combiner", "terraform_fixer")
    builder.add_edge("terraform_fixer", END)
    return builder.compile(checkpointer=checkpointer)
