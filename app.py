"""Agent Workbench: `streamlit run app.py`. Navigation, group picker and first-run setup."""

import streamlit as st

st.set_page_config(page_title="Agent Workbench", page_icon="🧪", layout="wide")

from ui.common import current, group_picker  # noqa: E402
from workbench.tenancy.people import get_person  # noqa: E402

ctx = current()
group_picker(ctx)

pages = {
    "Build": [
        st.Page("views/0_Home.py", title="Home", icon="🏠", default=True),
        st.Page("views/1_Chat.py", title="Chat", icon="💬", url_path="chat"),
        st.Page("views/2_Agents.py", title="Agents", icon="🤖"),
        st.Page("views/13_Tools.py", title="Tools", icon="🛠️", url_path="tools"),
        st.Page("views/10_Playground.py", title="Playground", icon="🧪", url_path="playground"),
        st.Page("views/11_Experiments.py", title="Experiments", icon="📏", url_path="experiments"),
        st.Page("views/3_Knowledge.py", title="Knowledge", icon="📚"),
        st.Page("views/8_Tasks.py", title="Tasks", icon="✅"),
    ],
    "Observe": [
        st.Page("views/4_Traces.py", title="Traces", icon="🔎"),
        st.Page("views/5_Events.py", title="Events", icon="📜"),
        st.Page("views/6_Usage.py", title="Usage", icon="📈"),
        st.Page("views/7_Prices.py", title="Prices", icon="💲"),
    ],
    "Admin": [
        st.Page("views/9_Groups.py", title="Groups", icon="👥"),
        st.Page("views/12_Settings.py", title="Settings", icon="⚙️", url_path="settings"),
    ],
}
st.sidebar.caption(f"Signed in as **{get_person(ctx.person_id).name}** · role **{ctx.role}**")
st.navigation(pages).run()
