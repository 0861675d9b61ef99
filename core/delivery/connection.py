"""One SMTP connection to the relay (aiosmtplib), opened when first needed and again after
it drops: the sender keeps a pool of these, one per worker. send() never raises for what
the relay or the network does; it returns the Reply (core.delivery.replies)."""

from __future__ import annotations

import aiosmtplib

from core.delivery.relay import Relay
from core.delivery.replies import Reply, Stage


class Connection:
    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self._smtp: aiosmtplib.SMTP | None = None

    async def _open(self) -> aiosmtplib.SMTP:
        relay = self.relay
        smtp = aiosmtplib.SMTP(
            hostname=relay.host,
            port=relay.port,
            username=relay.username,
            password=relay.password,
            use_tls=relay.use_tls,
            start_tls=relay.starttls,  # None: when the relay offers it
            local_hostname=relay.helo,
            timeout=relay.timeout_s,
            cert_bundle=relay.cafile,
        )
        await smtp.connect()  # greeting, EHLO, STARTTLS, AUTH
        return smtp

    async def send(self, envelope_from: str, recipient: str, data: bytes) -> Reply:
        """Deliver one message to one recipient: MAIL, RCPT, DATA."""
        stage = Stage.CONNECT
        try:
            if self._smtp is None or not self._smtp.is_connected:
                self._smtp = None
                self._smtp = await self._open()
            smtp = self._smtp
            stage = Stage.MAIL
            await smtp.mail(envelope_from)
            stage = Stage.RCPT
            await smtp.rcpt(recipient)
            stage = Stage.DATA
            response = await smtp.data(data)
            return Reply(response.code, response.message, Stage.DATA)
        except aiosmtplib.SMTPResponseException as exc:
            reply = Reply(exc.code, self.relay.mask(str(exc.message)), stage)
            if exc.code == 421 or stage == Stage.CONNECT:
                await self.close()  # 421: the relay closes the connection
            else:
                await self._reset()
            return reply
        except (aiosmtplib.SMTPException, OSError, TimeoutError, ValueError) as exc:
            await self.close()
            what = "connecting" if stage == Stage.CONNECT else f"at {stage.value.upper()}"
            detail = self.relay.mask(str(exc) or type(exc).__name__)
            return Reply(None, f"no reply {what}: {detail}", stage)

    async def _reset(self) -> None:
        smtp = self._smtp
        if smtp is None:
            return
        try:
            await smtp.rset()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            await self.close()

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            if smtp.is_connected:
                await smtp.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            smtp.close()
