"""The Letta test server, driven by the real `letta-client` SDK."""

import httpx
import pytest
from letta_client import APIStatusError, AsyncLetta, AuthenticationError, BadRequestError, Letta, NotFoundError

from tests.servers.letta_server import LettaTestServer


def client(server) -> Letta:
    return Letta(base_url=server.url, api_key="k", max_retries=0)


def make_agent(letta: Letta, user: str, course: str = "college-essay"):
    return letta.agents.create(
        name=f"youlab_{user}_{course}",
        memory_blocks=[{"label": "student", "value": "Name: Ada"}, {"label": "journey", "value": ""}],
        tags=["youlab", f"user:{user}", f"course:{course}"],
    )


def test_create_and_find_agents_by_name_and_tags(letta_server):
    letta = client(letta_server)
    for user in ("u1", "u2", "u3"):
        make_agent(letta, user)
    make_agent(letta, "u1", course="other")
    assert [a.name for a in letta.agents.list(name="youlab_u2_college-essay")] == ["youlab_u2_college-essay"]
    assert sorted(a.name for a in letta.agents.list(tags=["user:u1"])) == [
        "youlab_u1_college-essay", "youlab_u1_other"]
    both = letta.agents.list(tags=["user:u1", "course:college-essay"], match_all_tags=True)
    assert [a.name for a in both] == ["youlab_u1_college-essay"]
    assert list(letta.agents.list(name="nobody")) == []


def test_paging_with_after_terminates_and_sees_every_agent():
    with LettaTestServer(page_limit=2) as server:
        letta = client(server)
        created = [make_agent(letta, f"u{i}").id for i in range(5)]
        seen = [a.id for a in letta.agents.list()]
        assert seen == created
        pages = [r.query.get("after", [None])[0] for r in server.calls("agents") if r.method == "GET"]
        # first page, then one request per full page, ending with the empty page after the last id
        assert pages == [None, created[1], created[3], created[4]]


def test_blocks_round_trip_through_the_agent(letta_server):
    letta = client(letta_server)
    agent = make_agent(letta, "u1")
    assert [b.label for b in letta.agents.blocks.list(agent_id=agent.id)] == ["student", "journey"]
    assert letta.agents.blocks.retrieve("student", agent_id=agent.id).value == "Name: Ada"
    updated = letta.agents.blocks.update("journey", agent_id=agent.id, value="Drafting the essay.\nLikes gardens.")
    assert updated.value == "Drafting the essay.\nLikes gardens."
    assert letta.agents.blocks.retrieve("journey", agent_id=agent.id).value == "Drafting the essay.\nLikes gardens."
    assert letta.agents.retrieve(agent.id).memory.blocks[1].value == "Drafting the essay.\nLikes gardens."
    (patch,) = [r for r in letta_server.requests if r.method == "PATCH"]
    assert patch.body == {"value": "Drafting the essay.\nLikes gardens."}


def test_missing_label_and_agent_are_404_with_detail(letta_server):
    letta = client(letta_server)
    agent = make_agent(letta, "u1")
    with pytest.raises(NotFoundError) as info:
        letta.agents.blocks.update("nope", agent_id=agent.id, value="x")
    assert info.value.status_code == 404 and "nope" in info.value.body["detail"]
    with pytest.raises(NotFoundError) as info:
        letta.agents.blocks.retrieve("student", agent_id="agent-missing")
    assert "agent-missing" in info.value.body["detail"]


def test_standalone_blocks_crud_and_sharing(letta_server):
    letta = client(letta_server)
    block = letta.blocks.create(label="shared", value="v1")
    assert letta.blocks.retrieve(block.id).value == "v1"
    agent = letta.agents.create(name="a", block_ids=[block.id])
    letta.blocks.update(block.id, value="v2")
    assert letta.agents.blocks.retrieve("shared", agent_id=agent.id).value == "v2"
    assert [b.id for b in letta.blocks.list(label="shared")] == [block.id]
    letta.blocks.delete(block.id)
    with pytest.raises(NotFoundError):
        letta.blocks.retrieve(block.id)
    assert list(letta.agents.blocks.list(agent_id=agent.id)) == []


def test_value_over_the_block_limit_is_refused(letta_server):
    letta = client(letta_server)
    agent = letta.agents.create(name="a", memory_blocks=[{"label": "s", "value": "", "limit": 10}])
    with pytest.raises(BadRequestError):
        letta.agents.blocks.update("s", agent_id=agent.id, value="x" * 11)
    assert letta.agents.blocks.retrieve("s", agent_id=agent.id).value == ""


def test_validation_errors_are_422(letta_server):
    response = httpx.post(f"{letta_server.url}/v1/agents/", json={"memory_blocks": [{"label": "x"}]})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "memory_blocks", 0, "value"]


def test_failure_injection_and_sdk_retries(letta_server):
    letta = client(letta_server)
    agent = make_agent(letta, "u1")
    letta_server.down()
    with pytest.raises(APIStatusError) as info:
        letta.agents.blocks.update("student", agent_id=agent.id, value="x")
    assert info.value.status_code == 503
    letta_server.up()
    retrying = Letta(base_url=letta_server.url, api_key="k", max_retries=2)
    letta_server.fail_next(1, status=500, kind="blocks")
    assert retrying.agents.blocks.update("student", agent_id=agent.id, value="y").value == "y"
    assert [r.status for r in letta_server.calls("blocks")][-2:] == [500, 200]


def test_auth_when_a_key_is_set():
    with LettaTestServer(api_key="right") as server:
        with pytest.raises(AuthenticationError):
            Letta(base_url=server.url, api_key="wrong", max_retries=0).agents.list().items
        assert Letta(base_url=server.url, api_key="right", max_retries=0).agents.list().items == []


async def test_async_client(letta_server):
    letta = AsyncLetta(base_url=letta_server.url, api_key="k", max_retries=0)
    agent = await letta.agents.create(name="youlab_u9_c", memory_blocks=[{"label": "student", "value": "a"}])
    await letta.agents.blocks.update("student", agent_id=agent.id, value="b")
    assert (await letta.agents.blocks.retrieve("student", agent_id=agent.id)).value == "b"
    assert [a.id async for a in letta.agents.list(name="youlab_u9_c")] == [agent.id]
    with pytest.raises(NotFoundError):
        await letta.agents.blocks.retrieve("missing", agent_id=agent.id)
