"""The wizard as a Gradio app (and, through README.md's front matter, as a Hugging Face Space)."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # read when gradio is imported

import spaces  # noqa: E402,F401  (before torch: on ZeroGPU it patches torch at import)

from wizard.ui import build_ui, launch_options  # noqa: E402

demo = build_ui()

if __name__ == "__main__":
    demo.queue(max_size=40).launch(**launch_options())
