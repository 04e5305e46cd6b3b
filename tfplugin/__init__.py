"""archops' schema-only Terraform provider plugins: the executable Terraform launches.

A room of its own with one door, ``python -S -m tfplugin NAME``: it speaks go-plugin and tfplugin6
over gRPC and plans offline from a schema file prepared at setup (``ARCHOPS_PLUGIN_DIR``). It
imports nothing else of archops, so that each of the several processes Terraform starts per plan
is up in about a tenth of a second.
"""
