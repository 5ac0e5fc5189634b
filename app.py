"""Agent Workbench: `streamlit run app.py`. Navigation, group picker and first-run setup."""

import streamlit as st

st.set_page_config(page_title="Agent Workbench", page_icon="🧪", layout="wide")

from ui.common import current, group_picker  # noqa: E402
from ui.deploy_keys import forget_new_key  # noqa: E402
from workbench.tenancy.people import get_person  # noqa: E402

ctx = current()
group_picker(ctx)

# Each url_path is the URL the page had before its file was named after it (/Agents, /chat, ...), so
# links and bookmarks keep working; the Home page is the root URL.
pages = {
    "Build": [
        st.Page("views/home.py", title="Home", icon="🏠", default=True),
        st.Page("views/chat.py", title="Chat", icon="💬", url_path="chat"),
        st.Page("views/agents.py", title="Agents", icon="🤖", url_path="Agents"),
        st.Page("views/tools.py", title="Tools", icon="🛠️", url_path="tools"),
        st.Page("views/playground.py", title="Playground", icon="🧪", url_path="playground"),
        st.Page("views/experiments.py", title="Experiments", icon="📏", url_path="experiments"),
        st.Page("views/deploy.py", title="Deploy", icon="🚀", url_path="deploy"),
        st.Page("views/knowledge.py", title="Knowledge", icon="📚", url_path="Knowledge"),
        st.Page("views/tasks.py", title="Tasks", icon="✅", url_path="Tasks"),
    ],
    "Observe": [
        st.Page("views/traces.py", title="Traces", icon="🔎", url_path="Traces"),
        st.Page("views/events.py", title="Events", icon="📜", url_path="Events"),
        st.Page("views/usage.py", title="Usage", icon="📈", url_path="Usage"),
        st.Page("views/prices.py", title="Prices", icon="💲", url_path="Prices"),
    ],
    "Admin": [
        st.Page("views/groups.py", title="Groups", icon="👥", url_path="Groups"),
        st.Page("views/settings.py", title="Settings", icon="⚙️", url_path="settings"),
    ],
}
st.sidebar.caption(f"Signed in as **{get_person(ctx.person_id).name}** · role **{ctx.role}**")
page = st.navigation(pages, expanded=True)  # every page listed: no "View more" fold after the 10th
if page.url_path != "deploy":
    forget_new_key()  # a new API key is shown on the Deploy page only, until its maker leaves it
page.run()
