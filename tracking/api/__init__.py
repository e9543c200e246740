"""HTTP only: the route table and thin handlers, one module per resource."""
