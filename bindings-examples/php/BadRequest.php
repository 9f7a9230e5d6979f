<?php

declare(strict_types=1);

namespace Plug;

use Exception;

/** A request that cannot be read at all: the reply's id is null. */
final class BadRequest extends Exception
{
}
