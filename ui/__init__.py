"""The web chat's parts without gradio: HTML rendering (render) and changes to the served index (uploads)."""
