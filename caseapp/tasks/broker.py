"""The embedded broker: kombu's filesystem transport, with each message written whole.

kombu creates a message file, then locks and writes it; a worker polling in between moves the
still-empty file away, fails to decode it and stops ("Unrecoverable error: JSONDecodeError"),
leaving what was in flight to the sweep. Written under a name no consumer looks for and then
renamed (atomic within the folder), a message is there complete or not at all.
"""

import os
import uuid
from time import monotonic

from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # A leading dot: ``_get`` matches what follows the first dot against "<queue>.msg".
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb") as out:
                out.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
