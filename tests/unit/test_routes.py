"""RouteBook: a reply may go out only while the connection its request came on is open."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from netgym_sim.serving.routes import RouteBook

IDS = st.sampled_from([b"admin-0", b"admin-1", b"test-0"])
CONNS = st.integers(min_value=3, max_value=6)
EVENTS = st.lists(
    st.one_of(
        st.tuples(st.just("arrived"), IDS, st.one_of(st.none(), CONNS)),
        st.tuples(st.just("closed"), st.just(b""), CONNS),
    ),
    max_size=40,
)


def test_a_reply_follows_the_asking_connection_only_while_it_is_open() -> None:
    book = RouteBook()
    book.arrived(b"admin-0", 7)
    book.arrived(b"admin-1", 8)
    book.closed(7)
    assert not book.may_send(b"admin-0")
    assert book.may_send(b"admin-1")
    book.arrived(b"admin-0", 9)  # the client came back on a new connection
    assert book.may_send(b"admin-0")


def test_a_message_read_after_its_connections_close_gives_no_route() -> None:
    book = RouteBook()
    book.arrived(b"admin-0", 7)
    book.closed(7)
    book.arrived(b"admin-0", 7)  # it was queued before the close
    assert not book.may_send(b"admin-0")
    book.opened(7)  # the number is reused by a new connection
    book.arrived(b"admin-0", 7)
    assert book.may_send(b"admin-0")


def test_a_restart_that_takes_over_before_the_old_connection_closes_keeps_its_route() -> None:
    book = RouteBook()
    book.arrived(b"admin-0", 7)
    book.arrived(b"admin-0", 9)
    book.closed(7)
    assert book.may_send(b"admin-0")


@given(EVENTS)
def test_the_book_agrees_with_a_simple_model(events: list[tuple[str, bytes, int | None]]) -> None:
    book = RouteBook()
    last: dict[bytes, int | None] = {}
    closed: set[int] = set()
    for kind, identity, conn in events:
        if kind == "arrived":
            book.arrived(identity, conn)
            if conn in closed:  # a message read after its connection's close
                last.pop(identity, None)
            else:
                last[identity] = conn
        elif kind == "opened":
            assert conn is not None
            book.opened(conn)
            closed.discard(conn)
        else:
            assert conn is not None
            book.closed(conn)
            closed.add(conn)
            last = {i: c for i, c in last.items() if c != conn}
        for each in (b"admin-0", b"admin-1", b"test-0"):
            assert book.may_send(each) == (each in last), (each, events)
    assert len(book) == len(last)
