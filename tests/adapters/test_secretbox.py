"""The master key comes from SSM Parameter Store in AWS, read once per container."""
import boto3
import pytest
from cryptography.fernet import Fernet

from chalicelib.adapters import secretbox


@pytest.fixture
def key_in_ssm(moto_endpoint, monkeypatch):
    key = Fernet.generate_key().decode()
    name = "/hosted-checkout/test/secret-key"
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", moto_endpoint)
    boto3.client("ssm").put_parameter(Name=name, Value=key, Type="SecureString", Overwrite=True)
    monkeypatch.delenv("CHECKOUT_SECRET_KEY")
    monkeypatch.setenv("CHECKOUT_SECRET_KEY_PARAM", name)
    secretbox.reset_cache()
    yield key
    monkeypatch.undo()
    secretbox.reset_cache()


def test_the_key_is_read_from_ssm_once_per_container(key_in_ssm, monkeypatch):
    import botocore.session

    calls = []
    real_create = botocore.session.Session.create_client

    def counting_client(self, service, *args, **kwargs):
        client = real_create(self, service, *args, **kwargs)
        client.meta.events.register("before-call.ssm.GetParameter", lambda **kw: calls.append(1))
        return client

    monkeypatch.setattr(botocore.session.Session, "create_client", counting_client)
    tokens = [secretbox.encrypt(f"secret {i}") for i in range(5)]
    assert [secretbox.decrypt(t) for t in tokens] == [f"secret {i}" for i in range(5)]
    assert Fernet(key_in_ssm.encode()).decrypt(tokens[0].encode()) == b"secret 0"
    secretbox.derived_key("csrf")
    assert len(calls) == 1


def test_rotation_decrypts_with_old_keys_and_encrypts_with_the_newest(monkeypatch):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("CHECKOUT_SECRET_KEY", old)
    secretbox.reset_cache()
    token = secretbox.encrypt("credential")
    monkeypatch.setenv("CHECKOUT_SECRET_KEY", f"{new},{old}")
    secretbox.reset_cache()
    assert secretbox.decrypt(token) == "credential"
    assert Fernet(new.encode()).decrypt(secretbox.encrypt("x").encode()) == b"x"
    monkeypatch.undo()
    secretbox.reset_cache()


def test_no_key_configured_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("CHECKOUT_SECRET_KEY")
    monkeypatch.delenv("CHECKOUT_SECRET_KEY_PARAM", raising=False)
    secretbox.reset_cache()
    with pytest.raises(secretbox.SecretKeyMissing, match="CHECKOUT_SECRET_KEY"):
        secretbox.encrypt("x")
    monkeypatch.undo()
    secretbox.reset_cache()
