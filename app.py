"""The wizard as a Gradio app (and, through README.md's front matter, as a Hugging Face Space)."""

import spaces  # noqa: F401  (first: on ZeroGPU it patches torch at import, before anything loads it)

from wizard.ui import build_ui, launch_options

demo = build_ui()

if __name__ == "__main__":
    demo.queue(max_size=40).launch(**launch_options())
