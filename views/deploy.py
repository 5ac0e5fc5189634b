"""Deploy: serve the group's agents to products through the OpenAI-compatible API: API keys
(made here, shown once), version labels (production, staging, ...) and the code to call an
agent. The page reads and acts through workbench services only (serve.keys, agents)."""

import streamlit as st

from ui.common import current, require_group
from ui.deploy_keys import keys_section
from ui.deploy_labels import code_section, labels_section
from workbench import agents

ctx = current()
require_group(ctx)

st.title("Deploy")
st.caption("Call this group's agents from your products through an OpenAI-compatible API: one key per "
           "product, a label per release, and the code to paste. Every call is an ordinary run: traced, "
           "priced and under the group's budget and rate limits.")
st.info("Start the API next to the app with `python -m workbench serve` (it listens on 127.0.0.1:8000; "
        "`--host 0.0.0.0 --workers 2` serves other machines, best behind an HTTPS proxy). Set "
        "`WORKBENCH_API_PUBLIC_URL` to the address products use, so the code below shows it.", icon="🚀")

keys_section(ctx)

st.subheader("Version labels", anchor=False)
picked = labels_section(ctx, agents.list_agents(ctx.person_id, ctx.group_id))
if picked is not None:
    st.subheader("Call it from your code", anchor=False)
    code_section(picked)
