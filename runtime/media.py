"""The media files an app takes and what it accepts of them: file kinds by extension and the default caps
of an upload. Plain data, so the wizard can use it without importing what starts ComfyUI."""

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".webm", ".mov", ".mkv", ".avi", ".m4v"})
AUDIO_EXTENSIONS = frozenset({".flac", ".wav", ".mp3", ".ogg", ".opus", ".m4a", ".aac"})
MESH_EXTENSIONS = frozenset({".glb", ".gltf", ".obj", ".ply", ".stl", ".fbx"})

DEFAULT_MAX_PIXELS = 40_000_000  # 40 MP: a 7680×5200 photo; decoding one takes ~160 MB as RGBA
DEFAULT_MAX_MEDIA_SECONDS = 600.0
