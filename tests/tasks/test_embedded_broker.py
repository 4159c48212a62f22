"""The embedded broker writes each message whole: a worker polling the folder while a message is
being written finds nothing yet, never an empty file it would fail to decode and stop on."""

import os

import pytest
from kombu import Connection
from kombu.exceptions import ChannelError
from kombu.transport.virtual import Empty

from caseapp.tasks import broker


@pytest.fixture
def channel(tmp_path):
    folder, done = tmp_path / "queue", tmp_path / "processed"
    folder.mkdir()
    done.mkdir()
    with Connection(transport=broker.Transport, transport_options={
            "data_folder_in": str(folder), "data_folder_out": str(folder),
            "processed_folder": str(done), "control_folder": str(tmp_path)}) as conn:
        yield conn.default_channel


def test_a_consumer_polling_mid_write_finds_nothing_then_the_whole_message(channel, monkeypatch):
    polled = []
    rename = os.replace

    def poll_then_rename(source, target):
        # The last moment before the message appears: written out in full, under another name.
        with pytest.raises(Empty):
            channel._get("celery")
        polled.append(os.path.getsize(source))
        rename(source, target)

    monkeypatch.setattr(broker.os, "replace", poll_then_rename)
    channel._put("celery", {"body": "配送", "headers": {}})
    assert polled and polled[0] > 0
    assert channel._get("celery") == {"body": "配送", "headers": {}}
    with pytest.raises(Empty):
        channel._get("celery")


def test_every_message_arrives_and_no_partial_file_is_left(channel):
    for n in range(5):
        channel._put("celery", {"n": n})
    assert sorted(channel._get("celery")["n"] for _ in range(5)) == [0, 1, 2, 3, 4]
    assert not [name for name in os.listdir(channel.data_folder_out) if name.endswith(".part")]


def test_a_folder_that_cannot_be_written_is_a_channel_error(channel, tmp_path):
    channel.data_folder_out = str(tmp_path / "missing")
    with pytest.raises(ChannelError):
        channel._put("celery", {"body": "x"})
