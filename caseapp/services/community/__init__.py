"""The community layer: areas, members, watch lists, meetings, plans and the coordinator's queue."""
