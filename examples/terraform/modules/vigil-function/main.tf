# A Lambda function packaged from a directory and run under the Vigil sensor: the Vigil layer,
# the exec wrapper (AWS_LAMBDA_EXEC_WRAPPER=/opt/vigil/wrap), the mode (VIGIL_MODE), and the
# policy zipped with the code.

locals {
  # VIGIL_POLICY only when the policy is not vigil.yaml at the package root.
  vigil_policy_env = var.vigil_policy_file == "vigil.yaml" ? {} : { VIGIL_POLICY = "/var/task/${var.vigil_policy_file}" }
  vigil_collector_env = var.vigil_collector == null ? {} : { VIGIL_COLLECTOR = var.vigil_collector }
}

data "archive_file" "package" {
  type        = "zip"
  source_dir  = var.source_dir
  output_path = "${path.root}/build/${var.function_name}.zip"
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  name               = "${var.function_name}-role"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

# Writing to its own log group, nothing more: the events Vigil writes go there too.
data "aws_iam_policy_document" "logs" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function.arn}:*"]
  }
}

resource "aws_iam_role_policy" "logs" {
  name   = "logs"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.logs.json
}

resource "aws_cloudwatch_log_group" "function" {
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_function" "function" {
  function_name    = var.function_name
  role             = aws_iam_role.function.arn
  handler          = var.handler
  runtime          = var.runtime
  architectures    = ["x86_64"] # the Vigil layer is built for x86_64
  memory_size      = var.memory_size
  timeout          = var.timeout
  filename         = data.archive_file.package.output_path
  source_code_hash = data.archive_file.package.output_base64sha256

  layers = concat([var.vigil_layer_arn], var.layers)

  environment {
    variables = merge(var.environment, local.vigil_policy_env, local.vigil_collector_env, {
      AWS_LAMBDA_EXEC_WRAPPER = "/opt/vigil/wrap"
      VIGIL_MODE              = var.vigil_mode
    })
  }

  lifecycle {
    precondition {
      condition     = fileexists("${var.source_dir}/${var.vigil_policy_file}")
      error_message = "The Vigil policy ${var.vigil_policy_file} is missing from ${var.source_dir}: learn one (vigil policy from-events, or vigil learn) or copy the layer's default."
    }
    precondition {
      condition     = length(var.layers) <= 4
      error_message = "Lambda allows five layers per function, the Vigil layer included."
    }
  }

  depends_on = [aws_iam_role_policy.logs, aws_cloudwatch_log_group.function]
}
