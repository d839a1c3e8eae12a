"""MessageStream over real loopback TCP: frames, closes, stalls, garbage, and blocked peers."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator, Tuple

import numpy as np
import pytest

from pymodaq_plugins_scopeone.protocol import (
    DataReady,
    DataToExport,
    DataWithAxes,
    MoveDone,
    RemoteProtocolError,
    Sender,
    encode_message,
    join_chunks,
)
from pymodaq_plugins_scopeone.transport import ConnectionLost, MessageStream, TransportTimeout, connect


@contextmanager
def tcp_pair() -> Iterator[Tuple[socket.socket, socket.socket]]:
    """A connected (client, server) pair on loopback, through our own connect()."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(5)
        client = connect("127.0.0.1", listener.getsockname()[1], timeout_s=5)
        server, _ = listener.accept()
    try:
        yield client, server
    finally:
        client.close()
        server.close()


def frame_message(value: int) -> DataReady:
    frame = np.full((512, 512), value, dtype=np.uint16)
    return DataReady(DataToExport("ScopeOne", (DataWithAxes("Camera", (frame,), class_name="DataFromPlugins"),)))


def test_frames_cross_the_connection_and_land_in_recycled_arrays():
    with tcp_pair() as (client, server):
        sender, receiver = MessageStream(client, None), MessageStream(server, Sender.CLIENT)
        received = []
        for value in range(5):
            threading.Thread(target=sender.send, args=(frame_message(value),), daemon=True).start()
            message = receiver.receive(timeout_s=5)
            pixels = message.data.data[0].data[0]
            assert pixels.shape == (512, 512) and pixels.dtype == np.uint16 and np.all(pixels == value)
            received.append(pixels.__array_interface__["data"][0])
            del message, pixels
        assert len(set(received[1:])) == 1  # the pool handed the same, already-mapped array back


def test_idle_receive_returns_none_after_its_timeout():
    with tcp_pair() as (_, server):
        receiver = MessageStream(server, Sender.CLIENT)
        start = time.monotonic()
        assert receiver.receive(timeout_s=0.2) is None
        assert 0.15 < time.monotonic() - start < 2


def test_peer_closing_between_messages_is_a_connection_loss():
    with tcp_pair() as (client, server):
        client.sendall(join_chunks(encode_message(MoveDone(1.0))))
        client.close()
        receiver = MessageStream(server, Sender.CLIENT)
        assert receiver.receive(timeout_s=5) == MoveDone(1.0)
        with pytest.raises(ConnectionLost, match="closed the connection"):
            receiver.receive(timeout_s=5)


@pytest.mark.parametrize("cut", [2, 20, 100_000])
def test_peer_closing_mid_message_says_how_far_it_got(cut):
    data = join_chunks(encode_message(frame_message(3)))
    with tcp_pair() as (client, server):
        threading.Thread(target=lambda: (client.sendall(data[:cut]), client.close()), daemon=True).start()
        receiver = MessageStream(server, Sender.CLIENT)
        with pytest.raises(ConnectionLost, match=f"middle of a message, after {cut} of its bytes"):
            receiver.receive(timeout_s=5)


def test_a_stalled_message_times_out_instead_of_hanging():
    data = join_chunks(encode_message(frame_message(3)))
    with tcp_pair() as (client, server):
        client.sendall(data[:1000])
        receiver = MessageStream(server, Sender.CLIENT, stall_timeout_s=0.3)
        start = time.monotonic()
        with pytest.raises(TransportTimeout, match=r"stalled, nothing received for 0\.3 s"):
            receiver.receive(timeout_s=10)
        assert time.monotonic() - start < 2


def test_garbage_is_a_protocol_error_naming_the_command():
    with tcp_pair() as (client, server):
        client.sendall(b"\x00\x00\x00\x05HELLO")
        receiver = MessageStream(server, Sender.CLIENT)
        with pytest.raises(RemoteProtocolError, match="unknown command 'HELLO'"):
            receiver.receive(timeout_s=5)


def test_sending_to_a_peer_that_never_reads_times_out():
    big = DataReady(
        DataToExport("x", (DataWithAxes("x", (np.zeros((4096, 4096), np.uint16),), class_name="DataFromPlugins"),))
    )
    with tcp_pair() as (client, server):
        sender = MessageStream(client, None, stall_timeout_s=0.3)
        start = time.monotonic()
        with pytest.raises(TransportTimeout, match="stopped reading"):
            for _ in range(4):  # 128 MiB: more than any loopback socket buffers
                sender.send(big)
        assert time.monotonic() - start < 5
        del server


def test_sending_after_the_peer_left_is_a_connection_loss():
    with tcp_pair() as (client, server):
        sender = MessageStream(client, None)
        server.close()
        with pytest.raises(ConnectionLost):
            for _ in range(50):  # the first sends may still be accepted by the kernel
                sender.send(frame_message(1))
                time.sleep(0.01)


def test_connect_to_nobody_is_a_connection_loss_naming_the_address():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
    with pytest.raises(ConnectionLost, match=f"cannot connect to 127.0.0.1:{port}"):
        connect("127.0.0.1", port, timeout_s=2)


def test_close_is_idempotent_and_keepalive_is_on():
    with tcp_pair() as (client, server):
        assert client.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        stream = MessageStream(server, Sender.CLIENT)
        stream.close()
        stream.close()
        assert stream.closed


def test_one_thread_may_send_while_another_receives_on_the_same_stream():
    """Both ends stream frames at each other at once: no deadlock, nothing lost or mixed."""
    count = 12
    with tcp_pair() as (client, server):
        ends = [MessageStream(client, None), MessageStream(server, None)]
        received: dict = {0: [], 1: []}

        def pump(index: int) -> None:
            for value in range(count):
                ends[index].send(frame_message(100 * index + value))

        def drain_end(index: int) -> None:
            while len(received[index]) < count:
                message = ends[index].receive(timeout_s=5)
                assert message is not None
                received[index].append(int(message.data.data[0].data[0][0, 0]))

        threads = [threading.Thread(target=f, args=(i,), daemon=True) for i in (0, 1) for f in (pump, drain_end)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in threads)
        assert received[0] == [100 + v for v in range(count)]
        assert received[1] == list(range(count))
